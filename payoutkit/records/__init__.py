"""Records: the typed objects of every room, frozen dataclasses with pure converters to their documents."""
