"""Back office use cases that span several areas (one module per section).

A use case that changes one area lives in that area (the key import in licensing, the
refund in payments); one that must look across areas below the back office (a plan's
orders and its reserved keys, say) lives here, so no lower area imports an upper one.
"""
