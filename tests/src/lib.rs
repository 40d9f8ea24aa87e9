//! Integration tests of promexport live in `tests/`.
