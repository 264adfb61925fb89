"""The ``image-classification`` task: labelled images, a stratified holdout, accuracy."""
