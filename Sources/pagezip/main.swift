print("pagezip")
