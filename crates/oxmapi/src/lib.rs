//! A CDO-style Exchange client API over MAPI/HTTP

#![forbid(unsafe_code)]
