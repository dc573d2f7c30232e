x
y
Z