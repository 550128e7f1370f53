import numpy as np

import minigrad as mg


def test_gradient_of_product_matches_hand_derivative():
    x = mg.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, -4.0, 6.0])
