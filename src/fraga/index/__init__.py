"""Stage 2: encoders, the hybrid index folder (FAISS + BM25 + passage columns), building and appending."""
