"""Records: typed, frozen mirrors of the stored Stripe objects, with pure converters to their documents."""
