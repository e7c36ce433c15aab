"""The dashboard's page scripts (app.py lists them with `st.navigation`) and, in `_shared/`, the Streamlit code
they share. A regular package, so `import pages._shared...` finds this folder and never another `pages` on the path."""
