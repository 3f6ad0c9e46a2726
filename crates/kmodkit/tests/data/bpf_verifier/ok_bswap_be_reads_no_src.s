# type: socket_filter
# expect: accept
# class: uninit
# why: the source bit of a byte swap selects big-endian; it names no register (R0 is not read)
r2 = 5
r2 = be16 r2
r0 = 0
exit
