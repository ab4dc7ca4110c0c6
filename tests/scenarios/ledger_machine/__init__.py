"""The HTTP state machine of tests/scenarios/test_ledger_state_machine.py, in its parts: the model (the
oracle, `model`), the driver (the server and the HTTP calls, `driver`) and the rules that tie them
together (`rules`, with the payout rules in `payout_rules`)."""
