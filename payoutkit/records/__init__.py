"""Records: typed, frozen mirrors of the Stripe objects Payoutkit stores, with pure converters."""
