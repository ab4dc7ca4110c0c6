"""The demo platform: a marketplace's backend and pages on top of Payoutkit, as a Stripe Connect platform
builds them.

    platform.py   the reference integration: the official `stripe` SDK pointed at Payoutkit (accounts,
                  charges, refunds, disputes, transfers, account sessions, webhooks, the test clock)
    app.py        the platform's site (Starlette): pages that mount connect.js, the console's actions,
                  the webhook endpoint and its live log
    pages.py      the server-rendered HTML; static/ its script and styles
    seed.py       a marketplace with 90 days of history, made through the public API
    cli.py        `payoutkit-demo`: Payoutkit and the demo together (what `make run` starts)
"""
