"""Records: the typed mirrors of the Stripe objects that use cases reason about and return."""
