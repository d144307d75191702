"""Training with Lightning: fit (the whole run), trainer (Lightning's Trainer as the stage uses it),
batches (windows and streams), callbacks (time cap, history, checkpoints, previews), decay (when the
wsd decay starts and the run ends), average (train.ema), schedules (the learning rate) and rundir (the
run folder an interrupted run resumes from)."""
