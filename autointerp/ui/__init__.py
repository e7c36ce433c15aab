"""Dashboard helpers: HTML chips, plotly figures and page data. Only pages/ import this package."""
