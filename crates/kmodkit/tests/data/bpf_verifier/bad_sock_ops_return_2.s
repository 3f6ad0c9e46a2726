# type: sock_ops
# expect: reject
# class: return
# why: check_return_code: sock_ops programs return 0 or 1
r0 = 2
exit
