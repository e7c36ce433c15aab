"""Streamlit code the pages and app.py share; the pure parts (HTML, figures, page data) live in `autointerp.ui`.

A subfolder, not `pages/_x.py`: on a freshly started server, until a session reaches `st.navigation` in app.py,
Streamlit runs in its legacy mode and lists every `pages/*.py` (underscore or not) as a page of its own."""
