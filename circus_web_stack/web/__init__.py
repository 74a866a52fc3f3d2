"""The live web dashboard; talks to the daemon only through the client and protocol."""
