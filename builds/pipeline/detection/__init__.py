"""Detection helpers, one concern per module; `builds.pipeline.detect` puts them together.

None of them runs repository code: files are read and parsed (tomllib,
configparser, json, ast), never imported or executed.
"""
