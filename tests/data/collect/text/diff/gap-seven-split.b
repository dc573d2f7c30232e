line 1
line 2
line 3
line 4
five
line 6
line 7
line 8
line 9
line 10
line 11
line 12
thirteen
line 14
line 15
line 16
line 17
line 18
line 19
line 20
