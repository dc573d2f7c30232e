void g()
}
}
void g()

}
void g()
}
void g()
