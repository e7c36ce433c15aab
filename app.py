import streamlit as st

st.set_page_config(page_title="k-means autointerp", page_icon="🔬", layout="wide")
st.title("k-means autointerp")
st.info("The dashboard is being built; use `python -m autointerp analyze` meanwhile.")
