"""Scoring a trained model on a text: as it is (score), and learning as it reads (dynamic), with the
learning rate chosen on the validation text (search); the evaluate stage's metrics (report)."""
