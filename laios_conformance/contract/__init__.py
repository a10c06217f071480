"""The contract suite: one test function per clause, grouped by subject.

Read a module top to bottom to learn what the kit expects of a provider; each clause's
docstring says what it checks, why, and how to fix a failure.
"""
