# type: socket_filter
# expect: reject
# class: return
# ... but the caller may not read the R0 it left unset.
call sub
exit
sub:
r1 = 1
exit
