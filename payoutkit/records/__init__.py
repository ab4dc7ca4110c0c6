"""Records: typed, frozen mirrors of the Stripe objects Payoutkit stores, with `from_doc`/`doc`."""
