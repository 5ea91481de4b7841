"""The built-in channel simulator: fakes of the channels' public APIs, simulated handsets,
and a control API (DESIGN.md, "Simulator")."""
