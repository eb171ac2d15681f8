def save_svg(*a, **k): raise NotImplementedError
