"""Program outputs of a live show: GLFW windows and the operator monitor, the per-output
transform (flip, rotate, corner-pin), real-time pacing and frame statistics, headless recording
and contact sheets, and the session that runs a show on them (`session.run_live`)."""
