"""Tables, figures and the thesis-comparison scorecard for chapter 3 (clusterability).

Modules:
    reference  -- the thesis's published numbers (package data) and their loaders
    tables     -- per-cell summaries of per-network clusterability rows; thesis-style Markdown
    scorecard  -- ours-versus-thesis comparison with agreement flags
    figures    -- n-cut versus shuffles, shuffle distributions, random-initialisation n-cuts
    cli        -- ``nnstructure report-tables`` (chapter 3) and ``report-chapter`` (chapters 4 and 5)
"""
