print("ordlog")
