"""Records: typed, frozen mirrors of the stored Stripe objects, with converters to and from documents."""
