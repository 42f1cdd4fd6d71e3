//! Loading a workspace folder.
