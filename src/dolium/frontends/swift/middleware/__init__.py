"""What Swift adds in front of its core API as middlewares: each module here
answers or reshapes requests for one feature that /info lists by name."""
