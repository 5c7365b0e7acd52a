"""The sandbox: a simulated campaign (with planted fraud and its ground truth), the TikTok API it
is served through on a loopback port with its own clock and faults, replays through the real
connector, and the demo. Beside the shells: it may import every library layer, and the CLI runs it.
"""
