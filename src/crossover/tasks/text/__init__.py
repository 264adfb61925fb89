"""The ``text-classification`` task: one text column in, one label out.

``task`` holds the ``Task`` (reading, splits, metrics, the study's preparation); ``columns``
infers the text and label columns a user did not name; ``checks`` cleans the rows and checks
the classes and the test set (leakage, unknown labels).
"""
