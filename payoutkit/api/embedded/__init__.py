"""The embedded API (`/embedded/v1/...`): what the connect.js components call with an account
session's token. The contract is docs/embedded.md."""
