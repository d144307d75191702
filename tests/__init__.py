"""The tests: unit/ checks one module each, system/ runs real DVC, training, browsers and notebooks."""
