a

b


c

d
