"""One module per model family (diffusers' single-file pipeline idea); today: `wan`."""
