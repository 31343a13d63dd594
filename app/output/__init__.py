"""Every way data goes out of the service: Excel recaps (xlsx), documents (pdf)."""
