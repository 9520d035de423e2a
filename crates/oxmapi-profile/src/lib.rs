//! Profiles for oxmapi: dynamic ProfileInfo, static profiles, the RPC/HTTP proxy map, credentials

#![forbid(unsafe_code)]
