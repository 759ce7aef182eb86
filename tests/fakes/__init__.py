"""Local stand-ins for the payment gateways: real HTTP servers the real clients talk to."""
