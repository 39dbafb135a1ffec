"""s1_train: supervised fine-tuning with TRL."""
