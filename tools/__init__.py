"""Developer tools, not pipeline stages: generated docs and schema (paramdoc), dvc.yaml's code deps
(deps), the table of what `dvc repro` reruns in docs/usage.md (reruns), and a report comparing
experiments (report)."""
