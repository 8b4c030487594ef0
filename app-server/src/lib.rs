//! app-server.
