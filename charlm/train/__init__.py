"""Training with Lightning: fit (the whole run), trainer (Lightning's Trainer as the stage uses it),
batches (windows and streams), callbacks (time cap, decay, history, previews), schedules (the learning
rate) and rundir (the run folder an interrupted run resumes from)."""
