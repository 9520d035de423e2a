//! The network layer of oxmapi: HTTPS, TLS policy, HTTP auth, MAPI over HTTP

#![forbid(unsafe_code)]
