"""The whole system on its embedded default: `herbtrace demo`."""
