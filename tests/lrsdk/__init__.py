"""Lightroom Classic SDK stand-ins for running the plug-in's Lua code under real Lua 5.1 in pytest (sdk.lua,
harness.py), the real bridge server in a thread (bridge.py) and the fixtures that tie them together."""
