"""Training recipes on the mirror's train sets: fine-tuning and knowledge distillation, saved as submissions."""
